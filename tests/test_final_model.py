"""Chapter 5's final model is one configuration: its notebook trains what the benchmark times."""
import nbformat

from autograder.coursedir import CourseDir
from benchmarks.workloads import FINAL


def test_the_notebook_trains_the_benchmarked_final_model():
    notebook = nbformat.read(CourseDir.locate().source("05_training_better"), as_version=4)
    final = next(c.source for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "final")
    for text in (f"runtime.pick({FINAL['hidden_dims']}", f'weight_scale="{FINAL["weight_scale"]}"',
                 f'normalization="{FINAL["normalization"]}"', f"dropout_keep_ratio={FINAL['dropout_keep_ratio']}",
                 f'"learning_rate": {FINAL["learning_rate"]:g}',
                 f"lr_decay={FINAL['lr_decay']}", f"batch_size={FINAL['batch_size']}",
                 f"num_epochs=runtime.pick({FINAL['num_epochs']},"):
        assert text in final, f"{text!r} is not in the notebook's final cell: keep it in step with workloads.FINAL"
