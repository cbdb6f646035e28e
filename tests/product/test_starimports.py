"""Star imports are read once per module and resolved once per audit (product.starimports): the
settings model (the environment readers a star import brings) and the Django settings model
(split settings) follow the same modules."""

from __future__ import annotations

from pathlib import Path

from product_helpers import context, write

from prodaudit.product.django_settings import django_settings, unused_settings_modules
from prodaudit.product.pyindex import py_index
from prodaudit.product.pysettings import readers_of, settings_model
from prodaudit.product.starimports import resolve, star_imports

SPLIT = {
    "proj/settings/base.py": "import environ\nenv = environ.Env()\n"
                             'INSTALLED_APPS = ["app"]\nDEBUG = True\n',
    "proj/settings/production.py": "from .base import *\n"
                                   "try:\n    from .extra import *\nexcept ImportError:\n    pass\n"
                                   'SECRET_KEY = env("SECRET_KEY")\n',
    "proj/settings/extra.py": "ALLOWED_HOSTS = ['x']\n",
    "proj/settings/local.py": "from .base import *\nDEBUG = True\n",
    # a module of another package whose path ends like proj's base (it sorts first)
    "another/proj/settings/base.py": 'INSTALLED_APPS = ["other"]\nDEBUG = False\n',
}


def test_one_resolution_for_both_models(tmp_path: Path) -> None:
    ctx = context(write(tmp_path / "repo", SPLIT), tmp_path)
    imports = star_imports(ctx)
    assert star_imports(ctx) is imports  # memoised per audit
    prod = imports["proj/settings/production.py"]
    assert [(i.line, i.dotted, i.top, i.target) for i in prod] == [
        (1, "proj.settings.base", True, "proj/settings/base.py"),
        (3, "proj.settings.extra", False, "proj/settings/extra.py")]
    # a relative import names the importing module's package, never another package's module
    # whose path merely ends the same (sorted first)
    assert resolve(ctx, "proj.settings.base") == "proj/settings/base.py"
    assert resolve(ctx, "settings.base") == "another/proj/settings/base.py"  # suffix: path order
    assert resolve(ctx, "nowhere.base") is None
    # the settings model: base's ``env`` is a reader in production (``from .base import *``)
    module = next(m for m in py_index(ctx) if m.rel == "proj/settings/production.py")
    assert "env" in readers_of(ctx, module)
    secret = next(s for s in settings_model(ctx).settings if s.name == "SECRET_KEY")
    assert secret.env == "SECRET_KEY"
    # the Django model: production runs base's settings (module-level imports only)
    dj = django_settings(ctx)
    assert dj.production == "proj/settings/production.py"
    assert dj.effective["DEBUG"].loc == "proj/settings/base.py:4"
    assert "ALLOWED_HOSTS" not in dj.effective  # under ``try``: not followed, as before
    assert unused_settings_modules(ctx, "proj.settings.production") == {
        "another/proj/settings/base.py"}
