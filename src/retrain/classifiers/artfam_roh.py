"""ARTFAM_ROH: article family and raw board of an article, from its production attributes."""

from retrain.classifiers.estimators import xgboost_hist
from retrain.domain.specs import Features, ModelSpec

SPEC = ModelSpec(
    name="ARTFAM_ROH",
    description="Article family + raw board (family|board) from production attributes",
    query="""
        SELECT created_at, plant, product_line, thickness_mm, length_mm, width_mm,
               density_kg_m3, surface, decor_code, glue_system, emission_class,
               moisture_resistant, fire_retardant, customer_segment,
               article_family || '|' || raw_board AS artfam_roh, article_id
        FROM panel_articles
        WHERE created_at >= :since
    """,
    time_column="created_at",
    key_column="article_id",  # partitions and the hash holdout of TRAINING_ENGINE=dask
    target="artfam_roh",
    features=Features(
        numeric=("thickness_mm", "length_mm", "width_mm", "density_kg_m3"),
        categorical=(
            "plant",
            "product_line",
            "surface",
            "decor_code",
            "glue_system",
            "emission_class",
            "customer_segment",
        ),
        boolean=("moisture_resistant", "fire_retardant"),
    ),
    # XGBoost's own learning rate 0.3 with early stopping: 0.1 trained 3x the rounds for the
    # same macro-F1 (0.7438 vs 0.7437 at 40,000 rows; docs/benchmarks.md, "The demo").
    # Stopping on the validation error with patience 10, each leaf's step capped at 5: at 1M
    # rows the log-loss diverged after round 1 and 20 rounds were trained to be thrown away
    # (docs/benchmarks.md, "Stopping": faster at every size, macro-F1 within 0.002; patience
    # 5 stopped too early on noisy small validation sets)
    estimator=lambda: xgboost_hist(
        n_estimators=400, max_depth=6, early_stopping_rounds=10, stop_on="error", max_delta_step=5
    ),
    min_rows=1000,
    primary_metric="macro_f1",
    metric_floor=0.5,
    tolerance=0.01,
)
