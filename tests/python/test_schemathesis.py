"""Property-based requests generated from the KFP swagger: no 5xx, and responses that match the
schema."""
import pathlib
import subprocess
import sys

from conftest import REPO

SWAGGER = REPO.parent / "shared" / "kfp-api" / "v2beta1.swagger.json"


def test_swagger_properties_hold(server):
    schemathesis = pathlib.Path(sys.executable).parent / "schemathesis"
    result = subprocess.run(
        [str(schemathesis), "run", str(SWAGGER), "--url", server.host,
         "--checks", "not_a_server_error,response_schema_conformance",
         "--max-examples", "15", "--workers", "2", "--exclude-path-regex", "/visualizations|/workflows|/scheduledworkflows",
         "--no-color"],
        capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
