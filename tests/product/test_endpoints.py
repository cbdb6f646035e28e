"""The static endpoint model: routes and their authentication across frameworks."""

from __future__ import annotations

from pathlib import Path

from product_helpers import context, write

from prodaudit.product.endpoints import endpoints, external_routes, path_params


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


def test_flask_class_views_resources_and_blueprint_prefixes(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {
        "app/__init__.py": "from flask import Flask\nfrom .notes import bp\napp = Flask(__name__)\n"
                           "app.register_blueprint(bp, url_prefix='/api')\n",
        "app/notes.py": "from flask import Blueprint\nfrom flask.views import MethodView, View\n"
                        "bp = Blueprint('notes', __name__, url_prefix='/notes')\n"
                        "class Notes(MethodView):\n    decorators = [login_required]\n"
                        "    def get(self):\n        ...\n    def post(self):\n        ...\n"
                        "class Export(View):\n    methods = ['GET', 'POST']\n"
                        "    def dispatch_request(self):\n        ...\n"
                        "bp.add_url_rule('/', view_func=Notes.as_view('notes'))\n"
                        "bp.add_url_rule('/export', view_func=Export.as_view('export'))\n",
        "app/res.py": "from flask_restful import Api, Resource\napi = Api()\n"
                      "class Item(Resource):\n    method_decorators = [jwt_required()]\n"
                      "    def delete(self, item_id):\n        ...\n"
                      "api.add_resource(Item, '/items/<int:item_id>', '/i/<int:item_id>')\n",
        "app/smorest.py": "from flask.views import MethodView\nfrom flask_smorest import Blueprint\n"
                          "blp = Blueprint('pets', __name__, url_prefix='/pets')\n"
                          "@blp.route('/<pet_id>')\nclass Pet(MethodView):\n"
                          "    def put(self, pet_id):\n        ...\n",
        "app/restx.py": "from flask_restx import Namespace, Resource\nns = Namespace('todos')\n"
                        "@ns.route('/todos/<int:id>')\nclass Todo(Resource):\n"
                        "    @ns.doc('get')\n    def get(self, id):\n        ...\n",
    })
    eps = {(e.view, "/".join(e.methods), e.route): e for e in endpoints(context(repo, tmp_path))}
    assert set(eps) == {
        ("Notes", "GET", "/api/"), ("Notes", "POST", "/api/"),  # the mount replaces /notes
        ("Export", "GET/POST", "/api/export"),
        ("Item", "DELETE", "/items/<int:item_id>"), ("Item", "DELETE", "/i/<int:item_id>"),
        ("Pet", "PUT", "/pets/<pet_id>"), ("Todo", "GET", "/todos/<int:id>")}
    assert eps[("Notes", "POST", "/api/")].auth == "[login_required]"
    assert eps[("Notes", "POST", "/api/")].line == 4  # the view class
    assert eps[("Export", "GET/POST", "/api/export")].auth == ""
    assert "jwt_required" in eps[("Item", "DELETE", "/items/<int:item_id>")].auth
    assert eps[("Item", "DELETE", "/i/<int:item_id>")].params == ("item_id",)
    assert eps[("Pet", "PUT", "/pets/<pet_id>")].framework == "flask"


def test_django_url_configuration_function_and_class_views(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {
        "site/urls.py": "from django.urls import include, path, re_path\n"
                        "urlpatterns = [path('shop/', include('shop.urls')),\n"
                        "               re_path(r'^legacy/', include(('shop.urls', 'shop'))),\n"
                        "               path('', include('pages.urls'))]\n",
        "shop/urls.py": "from django.conf.urls import url\nfrom django.urls import path\n"
                        "from django.views.decorators.csrf import csrf_exempt\n"
                        "from . import views\nfrom .views import OrderView\n"
                        "urlpatterns = [\n"
                        "    path('orders/<int:pk>/', OrderView.as_view()),\n"
                        "    url(r'^pay/(?P<order_id>\\d+)/$', csrf_exempt(views.pay)),\n"
                        "    path('cart/', views.cart),\n]\n",
        "shop/views.py": "from django.contrib.auth.decorators import login_required, "
                         "permission_required\nfrom django.contrib.auth.mixins import "
                         "LoginRequiredMixin\nfrom django.views import View\n"
                         "from django.views.decorators.http import require_POST\n"
                         "class OrderView(LoginRequiredMixin, View):\n"
                         "    def get(self, request, pk):\n        ...\n"
                         "    def delete(self, request, pk):\n        ...\n"
                         "@require_POST\n@permission_required('shop.pay')\n"
                         "def pay(request, order_id):\n    ...\n"
                         "def cart(request):\n    ...\n",
        "pages/urls.py": "from django.urls import path\nfrom pages import views\n"
                         "urlpatterns = [path('about/', views.cart)]\n",
        "pages/views.py": "def cart(request):\n    return 'about'\n",
    })
    eps = {(e.func.name, "/".join(e.methods), e.route): e
           for e in endpoints(context(repo, tmp_path))}
    assert set(eps) == {
        ("get", "GET", "/shop/orders/<int:pk>/"), ("delete", "DELETE", "/shop/orders/<int:pk>/"),
        ("get", "GET", "/legacy/orders/<int:pk>/"),
        ("delete", "DELETE", "/legacy/orders/<int:pk>/"),
        ("pay", "POST", "/shop/pay/(?P<order_id>\\d+)/"),
        ("pay", "POST", "/legacy/pay/(?P<order_id>\\d+)/"),
        ("cart", "GET/POST", "/shop/cart/"), ("cart", "GET/POST", "/legacy/cart/"),
        ("cart", "GET/POST", "/about/")}
    order = eps[("delete", "DELETE", "/shop/orders/<int:pk>/")]
    assert order.framework == "django" and order.view == "OrderView"
    assert order.auth == "LoginRequiredMixin" and order.params == ("pk",)
    pay = eps[("pay", "POST", "/shop/pay/(?P<order_id>\\d+)/")]
    assert "permission_required" in pay.auth and pay.params == ("order_id",)
    assert "csrf_exempt" in pay.decorators and "require_POST" in pay.decorators
    assert eps[("cart", "GET/POST", "/shop/cart/")].auth == ""
    about = eps[("cart", "GET/POST", "/about/")]
    assert about.module.rel == "pages/views.py"  # resolved through the imports, not by name
    assert eps[("cart", "GET/POST", "/shop/cart/")].module.rel == "shop/views.py"


def test_django_method_decorator_and_urlconf_wrapper_authenticate(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {
        "urls.py": "from django.urls import path\nfrom app import views\n"
                   "urlpatterns = [path('a/', login_required(views.a)),\n"
                   "               path('b/', views.B.as_view())]\n",
        "app/views.py": "from django.utils.decorators import method_decorator\n"
                        "from django.views.generic import View\ndef a(request):\n    ...\n"
                        "@method_decorator(login_required, name='dispatch')\nclass B(View):\n"
                        "    def post(self, request):\n        ...\n",
    })
    eps = {e.route: e for e in endpoints(context(repo, tmp_path))}
    assert set(eps) == {"/a/", "/b/"}
    assert eps["/a/"].auth == "login_required" and eps["/a/"].decorators == ("login_required",)
    assert "login_required" in eps["/b/"].auth and eps["/b/"].methods == ("POST",)


def test_drf_view_gets_its_path_from_the_url_configuration(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {
        "urls.py": "from django.urls import path\nfrom api.views import ItemApi\n"
                   "urlpatterns = [path('api/items/<int:pk>/', ItemApi.as_view())]\n",
        "api/views.py": "from rest_framework.views import APIView\nclass ItemApi(APIView):\n"
                        "    def delete(self, request, pk):\n        ...\n",
    })
    eps = endpoints(context(repo, tmp_path))
    assert [(e.framework, e.methods, e.route) for e in eps] == [
        ("drf", ("DELETE",), "/api/items/<int:pk>/")]


def test_templates_mounts_and_views_outside_the_repository(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {
        "app/main.py": "from fastapi import FastAPI\nfrom .routers import debug\napp = FastAPI()\n"
                       "app.include_router(debug.router, prefix='/internal')\n",
        "app/routers/debug.py": "from fastapi import APIRouter\nrouter = APIRouter(prefix='/dbg')\n"
                                "@router.get('/vars/{name}')\nasync def var(name: str):\n    ...\n",
        "urls.py": "from django.contrib import admin\nfrom django.urls import path, re_path\n"
                   "from django.views.generic import TemplateView\nfrom shop import views\n"
                   "urlpatterns = [path('admin/', admin.site.urls),\n"
                   "               path('', TemplateView.as_view(template_name='i.html')),\n"
                   "               re_path(r'^items/(?P<pk>[0-9]+)/$', views.item),\n"
                   "               re_path(r'^raw/(\\d+)/$', views.item)]\n",
        "shop/views.py": "def item(request, pk):\n    ...\n",
    })
    ctx = context(repo, tmp_path)
    eps = {e.func.name: e for e in endpoints(ctx) if e.framework == "fastapi"}
    assert eps["var"].route == "/dbg/vars/{name}"  # the readiness suite's path
    assert eps["var"].templates == ("/dbg/vars/{name}", "/internal/dbg/vars/{name}")
    items = sorted(e.template for e in endpoints(ctx) if e.framework == "django")
    assert items == ["", "/items/{pk}/"]  # an unnamed regex group gives no template
    assert [(r.path, r.loc, r.view) for r in external_routes(ctx)] == [
        ("/admin/", "urls.py:5", "admin.site.urls"),
        ("/", "urls.py:6", "TemplateView.as_view(template_name='i.html')")]
