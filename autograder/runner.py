"""Executed inside the sandbox: run the notebook read from stdin in the student's folder, and write
executed.ipynb and status.json into the grader's folder.

    python runner.py GRADER_DIR HOME CELL_SECONDS < notebook.ipynb

GRADER_DIR holds the chapter's `course/` slice (on PYTHONPATH), the probe's inputs and the empty
result files; in the sandbox it is read-only but for those files. HOME is the student's folder
(a size-limited tmpfs in the sandbox), where the kernel runs. The notebook comes on stdin because
it holds the hidden tests: it is never on disk for the student's code to find.

Standalone on purpose (only nbformat, nbclient and jupyter_client): the sandbox sees this file
and the Python environment, not the autograder package.
"""
import json
import os
import shutil
import sys
import tempfile

# jsonschema builds an IRI grammar with lark when rfc3987_syntax is installed: 0.9 s of CPU in
# every sandbox for a format check that notebooks never use. Without it, jsonschema skips that check.
sys.modules["rfc3987_syntax"] = None

import nbformat  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import DeadKernelError  # noqa: E402

OUTPUT_BYTES_PER_CELL = 100_000


class CappedClient(NotebookClient):
    """A notebook client that keeps at most OUTPUT_BYTES_PER_CELL of output per cell."""

    def output(self, outs, msg, display_id, cell_index):
        size = sum(len(json.dumps(o)) for o in outs)
        if size > OUTPUT_BYTES_PER_CELL:
            if not any(o.get("name") == "grader" for o in outs):
                outs.append(nbformat.v4.new_output("stream", name="grader",
                                                   text="[output cut: this cell printed too much]\n"))
            return None
        return super().output(outs, msg, display_id, cell_index)


def main(grader_dir, home, cell_seconds="30"):
    notebook = nbformat.read(sys.stdin, as_version=4)
    if os.environ.get("COURSE_FONT_CACHE") and os.environ.get("MPLCONFIGDIR"):
        # the grader's font cache is read-only here; a private copy spares the kernel a rebuild
        shutil.copytree(os.environ["COURSE_FONT_CACHE"], os.environ["MPLCONFIGDIR"], dirs_exist_ok=True)
    # IPC transport: the sandbox has no network, and nothing outside can reach the kernel
    # the async manager: with the synchronous one nbclient never notices a dead kernel
    manager = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(tempfile.mkdtemp(), "kernel"))
    client = CappedClient(notebook, km=manager, timeout=int(cell_seconds), allow_errors=True, interrupt_on_timeout=True,
                          record_timing=False, kernel_name="python3", shutdown_kernel="immediate",
                          resources={"metadata": {"path": home}})  # the kernel's working folder
    state = {"finished": False, "error": None}
    try:
        client.execute()
        state["finished"] = True
    except DeadKernelError as error:
        state["error"] = f"the kernel died ({error})"
    except Exception as error:  # noqa: BLE001 - whatever stops execution is recorded, the grader decides
        state["error"] = f"{type(error).__name__}: {error}"
    finally:
        nbformat.write(notebook, os.path.join(grader_dir, "executed.ipynb"))
        with open(os.path.join(grader_dir, "status.json"), "w") as f:
            json.dump(state, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
