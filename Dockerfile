# Domus's image. The web app, the Prefect server and the Prefect workers all run it
# (docker-compose.yml), so every part of the stack has the same Python, Prefect and Domus.
FROM python:3.11-slim

# LibreOffice Writer without its GUI turns letters into PDF; Carlito stands in for Calibri
# with the same metrics, so a letter keeps its page breaks. pg_dump and pg_restore (15, the
# compose file's server) for `domus backup` and `domus restore`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libreoffice-writer-nogui fonts-crosextra-carlito postgresql-client \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The dependencies first, in a layer that changes only with pyproject.toml.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The source tree, then the project itself. Installed editable (`pip install -e .`): the
# letter, e-mail and web templates are read from templates/ beside the packages, and the
# Prefect deployments name this folder as the flows' source (`domus deploy`). The tree
# stays owned by root: the app cannot change its own code.
COPY . .
RUN pip install --no-deps -e . \
    && useradd --create-home --uid 10001 --user-group domus \
    && mkdir -p /data/watch \
    && chown -R domus:domus /data

USER domus
ENV DOMUS_DATA_DIR=/data
EXPOSE 8000 4200
CMD ["domus", "serve", "--host", "0.0.0.0", "--port", "8000"]
