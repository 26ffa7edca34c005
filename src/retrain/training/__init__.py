"""Pure ML: validation, features, fitting, evaluation and the promotion gate. No I/O."""
