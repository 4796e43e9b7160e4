"""Ray Serve as a runtime: its declarative REST API (`serve_api.py`), the cluster's nodes (`cluster.py`), the
application configs venom-mcp deploys (`app_config.py`), and the llama.cpp deployment that runs on the cluster's
nodes (`llamacpp_app.py`, imported only there: it needs ray and llama_cpp)."""

from .app_config import ModelSource, ReplicaOptions, serve_url
from .cluster import ClusterReader
from .serve_api import Application, RayServeAPI, ServeState, telling

__all__ = ["Application", "ClusterReader", "ModelSource", "RayServeAPI", "ReplicaOptions", "ServeState", "serve_url",
           "telling"]
