# The function app image: Azure Functions Python 4 host, Python 3.11, runtime dependencies only.
# 4-python3.11 is the host-4 / Python-3.11 line, which Microsoft rebuilds with host and OS
# fixes; to freeze one build, pin its digest (FROM ...:4-python3.11@sha256:...).
# It runs as root, as the base is built to: its start script installs the platform's CA
# certificates into the system store, and the host listens on port 80, where App Service and
# Container Apps send requests. The base does not support a non-root user (docs/functions.md).
FROM mcr.microsoft.com/azure-functions/python:4-python3.11

ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOG_FORMAT=json

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
# The libraries' own test suites (~140 MB: pandas, scipy, scikit-learn, numpy) are dropped.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt \
    && python -c "import site; print(site.getsitepackages()[0])" > /tmp/site \
    && find "$(cat /tmp/site)" -mindepth 2 -type d -name tests -prune -exec rm -rf {} + \
    && rm /tmp/site

# The app: function_app.py puts src/ next to it on sys.path.
COPY host.json function_app.py /home/site/wwwroot/
COPY src/retrain /home/site/wwwroot/src/retrain

# The commit that built the image goes into every model card.
ARG GIT_COMMIT=unknown
ENV RETRAIN_CODE_VERSION=${GIT_COMMIT}
