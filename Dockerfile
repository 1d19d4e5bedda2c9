# The production image: one image for the web, worker and beat processes.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY commerce ./commerce
COPY catalog ./catalog
COPY customers ./customers
COPY inventory ./inventory
COPY pricing ./pricing
COPY loyalty ./loyalty
COPY payments ./payments
COPY orders ./orders
COPY fulfillment ./fulfillment
COPY pos ./pos
COPY analytics ./analytics
COPY backoffice ./backoffice
COPY templates ./templates
COPY manage.py ./
RUN pip install --no-cache-dir . && python manage.py collectstatic --noinput --verbosity 0 || true

EXPOSE 8000
CMD ["gunicorn", "commerce.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4"]
