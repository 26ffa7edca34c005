# The function app image: Azure Functions Python 4 host, Python 3.11, runtime dependencies only.
FROM mcr.microsoft.com/azure-functions/python:4-python3.11

ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LOG_FORMAT=json

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

# The app: function_app.py puts src/ next to it on sys.path.
COPY host.json function_app.py /home/site/wwwroot/
COPY src/retrain /home/site/wwwroot/src/retrain

# The commit that built the image goes into every model card.
ARG GIT_COMMIT=unknown
ENV RETRAIN_CODE_VERSION=${GIT_COMMIT}
