"""The static endpoint model: routes and their authentication across frameworks."""

from __future__ import annotations

from pathlib import Path

from product_helpers import context, write

from prodaudit.product.endpoints import endpoints, path_params


def test_path_params_of_every_syntax() -> None:
    assert path_params("/a/{item_id}/b/{x:\\d+}") == ("item_id", "x")
    assert path_params("/notes/<int:note_id>/<slug>") == ("note_id", "slug")
    assert path_params("^score/(?P<score_id>[0-9]+)/$") == ("score_id",)


def test_endpoints_of_four_frameworks(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {
        "fa.py": "from fastapi import APIRouter, Depends\nr = APIRouter(dependencies="
                 "[Depends(verify_token)])\n@r.put('/i/{i}')\nasync def put(i: int):\n    ...\n",
        "fl.py": "from flask import Blueprint\nbp = Blueprint('b', __name__)\n"
                 "@bp.route('/x', methods=['POST', 'DELETE'])\ndef x():\n    ...\n",
        "ai.py": "from aiohttp import web\nasync def h(request):\n    ...\n"
                 "app = web.Application()\napp.add_routes([web.post('/h', h)])\n",
        "dr.py": "from rest_framework.views import APIView\nclass Base:\n"
                 "    permission_classes = [IsAuthenticated]\n"
                 "class V(Base, APIView):\n    def delete(self, request, pk):\n        ...\n",
    })
    eps = {e.module.rel: e for e in endpoints(context(repo, tmp_path))}
    assert set(eps) == {"fa.py", "fl.py", "ai.py", "dr.py"}
    assert eps["fa.py"].methods == ("PUT",) and "verify_token" in eps["fa.py"].auth
    assert eps["fa.py"].params == ("i",)
    assert eps["fl.py"].methods == ("POST", "DELETE") and eps["fl.py"].auth == ""
    assert eps["ai.py"].framework == "aiohttp" and eps["ai.py"].path == "/h"
    assert eps["dr.py"].view == "V" and "IsAuthenticated" in eps["dr.py"].auth
    assert eps["dr.py"].params == ("pk",) and eps["dr.py"].line == 4
