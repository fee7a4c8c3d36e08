"""Production settings are checked in a separate interpreter, as a deploy would load them."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DATABASE_URL": "postgres://amt:amt@127.0.0.1:5432/amt",
    "DJANGO_SECRET_KEY": "k" * 20 + "-production-test-key-with-enough-entropy-9f8e7d",
    "DJANGO_ALLOWED_HOSTS": "allmytracks.example",
    "SITE_URL": "https://allmytracks.example",
    "OPERATOR_REGISTRATION": "Company no. 12345678",
    "OPERATOR_ADDRESS": "2 Studio Lane, London",
    "SUPPORT_EMAIL": "support@allmytracks.example.com",
}


def run_manage(*args, env_extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "AWS_", "REDIS"))}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_without_a_secret_key_stops_with_a_message_naming_the_variable():
    env = {**PRODUCTION_ENV}
    del env["DJANGO_SECRET_KEY"]
    result = run_manage("check", env_extra=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_deploy_checks_pass_with_production_values():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_extra=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_checks_refuse_the_operators_sample_details():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k not in ("OPERATOR_ADDRESS", "SUPPORT_EMAIL")}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_extra=env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "allmytracks.W001" in output and "Set OPERATOR_ADDRESS to the real value." in output
    assert "Set SUPPORT_EMAIL to the real value." in output and "OPERATOR_REGISTRATION" not in output


def test_production_settings_turn_on_https_cookies_hsts_and_manifest_static_files():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, "
        "s.STORAGES['staticfiles']['BACKEND'].endswith('CompressedManifestStaticFilesStorage'), "
        "s.DATABASES['default']['CONN_MAX_AGE'] > 0, s.DATABASES['default']['CONN_HEALTH_CHECKS'])"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.update(PRODUCTION_ENV, DJANGO_SETTINGS_MODULE="allmytracks.settings")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.stdout.split() == ["False", "True", "True", "True", "True", "True", "True"], result.stderr


def test_an_unknown_environment_name_is_refused():
    result = run_manage("check", env_extra={"DJANGO_ENV": "staging"})
    assert result.returncode != 0
    assert "DJANGO_ENV must be development, test or production" in result.stderr


def test_docker_compose_file_is_valid_yaml_with_every_service_and_a_healthcheck():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "db", "redis", "s3", "mail"} <= set(services)
    for name in ("web", "db", "redis", "s3"):
        assert "healthcheck" in services[name], name
    assert services["web"]["environment"]["DJANGO_ENV"] == "production"
    assert "volumes" in compose


def test_dockerfile_runs_gunicorn_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.count("FROM ") >= 2  # multi-stage
    assert "\nUSER " in dockerfile
    assert "gunicorn" in dockerfile
