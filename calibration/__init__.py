"""Camera calibration, pixel-to-mm scale, image registration and golden-template comparison.

Pure OpenCV/numpy; never imports the station core (``inspection``) or Qt.

- ``boards``: chessboard / ChArUco geometry, detection, printable images
- ``camera``: intrinsics and distortion from board views, bad views named; undistortion maps
- ``scale``: millimetres per pixel (board on the plane, known length, working distance)
- ``registration``: part-to-reference alignment (phase correlation, then ECC)
- ``golden``: good-part templates with a tolerance band, and the differences from them
- ``defect_kinds``: naming a difference by its effect on the conductors (open, short, ...)
"""
