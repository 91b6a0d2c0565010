"""Executed inside the sandbox: run submission.ipynb, write executed.ipynb, in the student's folder.

Standalone on purpose (only nbformat, nbclient and jupyter_client): the sandbox sees
this file and the Python environment, not the autograder package or the course.
"""
import json
import os
import sys

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

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


def main(source="submission.ipynb", target="executed.ipynb", status="status.json", cell_seconds="30"):
    notebook = nbformat.read(source, as_version=4)
    os.remove(source)  # it holds the hidden tests: the student's code must not find it on disk
    # IPC transport: the sandbox has no network, and nothing outside can reach the kernel
    # the async manager: with the synchronous one nbclient never notices a dead kernel
    manager = AsyncKernelManager(kernel_name="python3", transport="ipc", ip="/tmp/kernel")
    client = CappedClient(notebook, km=manager, timeout=int(cell_seconds), allow_errors=True, interrupt_on_timeout=True,
                          record_timing=False, kernel_name="python3")
    state = {"finished": False, "error": None}
    try:
        client.execute()
        state["finished"] = True
    except DeadKernelError as error:
        state["error"] = f"the kernel died ({error})"
    except Exception as error:  # noqa: BLE001 - whatever stops execution is recorded, the grader decides
        state["error"] = f"{type(error).__name__}: {error}"
    finally:
        nbformat.write(notebook, target)
        with open(status, "w") as f:
            json.dump(state, f)


if __name__ == "__main__":
    main(*sys.argv[1:])
