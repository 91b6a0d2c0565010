"""Neural Networks from Scratch: the reference package every chapter notebook calls."""
