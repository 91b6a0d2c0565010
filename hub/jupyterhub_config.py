"""JupyterHub for one machine: the class laid out by hub/make_course.py, local accounts and servers.

    .venv/bin/jupyterhub -f hub/jupyterhub_config.py     (what `make hub` runs)

Read from the environment: HUB_ROOT (the folder make_course.py filled; default out/hub), HUB_PORT
(the address people open, default 8000), HUB_API_PORT and HUB_PROXY_API_PORT (internal; default
8081 and 8001), HUB_PASSWORD (everyone's password; default `course`). Test set-up only: every
server runs as this Unix user and the password is shared; the README says what a real class uses.
"""
import json
import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 - injected by JupyterHub

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ROOT = Path(os.environ.get("HUB_ROOT", REPO / "out" / "hub")).resolve()
users = json.loads((ROOT / "users.json").read_text(encoding="utf-8"))

c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ.get('HUB_PORT', '8000')}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ.get('HUB_PROXY_API_PORT', '8001')}"
c.ConfigurableHTTPProxy.command = [str(HERE / "node_modules" / ".bin" / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = str(ROOT / "state" / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{ROOT / 'state' / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(ROOT / "state" / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(ROOT / "state" / "jupyterhub.pid")

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = os.environ.get("HUB_PASSWORD", "course")
c.Authenticator.allowed_users = {users["instructor"], *users["students"]}

# every server a process of this user, each in its own home (ROOT/homes/<user>), which holds
# that user's nbgrader settings (~/.jupyter/nbgrader_config.py)
c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
c.SimpleLocalProcessSpawner.home_dir_template = str(ROOT / "homes" / "{username}")
c.Spawner.cmd = [str(Path(sys.executable).parent / "jupyterhub-singleuser")]
c.Spawner.args = ["--allow-root"] if os.geteuid() == 0 else []
c.Spawner.default_url = "/lab"
# a terminal in Lab finds nbgrader and autograder without activating anything
c.Spawner.environment = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"}
c.Spawner.http_timeout = 90  # a first JupyterLab start on a busy two-core machine
c.Spawner.start_timeout = 120
