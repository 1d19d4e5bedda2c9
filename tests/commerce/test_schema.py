import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_schema_generates_without_warnings(tmp_path, capsys):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target), "--validate", "--fail-on-warn")
    text = target.read_text()
    assert "ApiKey:" in text
    assert "/api/v1/orders/" in text


@pytest.mark.django_db
def test_api_docs_served_without_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn." not in page
    assert "unpkg" not in page
    assert "jsdelivr" not in page


@pytest.mark.django_db
def test_schema_declares_idempotency_key(tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(target))
    import yaml

    schema = yaml.safe_load(target.read_text())
    post = schema["paths"]["/api/v1/orders/"]["post"]
    headers = [parameter for parameter in post["parameters"] if parameter["in"] == "header"]
    assert [(header["name"], header["required"]) for header in headers] == [("Idempotency-Key", True)]


@pytest.mark.django_db
def test_home_page_links_admin_and_docs(client):
    response = client.get("/")
    assert response.status_code == 200
    assert 'href="/admin/"' in response.content.decode()
    assert 'href="/api/docs/"' in response.content.decode()
