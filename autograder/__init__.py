"""The instructor's tools: release the chapters to students, grade their submissions."""
