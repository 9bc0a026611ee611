"""Camera calibration, pixel-to-mm scale and image registration: pure OpenCV/numpy.

Features arrive with the calibration issue.
"""
