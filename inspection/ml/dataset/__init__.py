"""Dataset import: turn labelled image sets into the YOLO layout that training takes."""
