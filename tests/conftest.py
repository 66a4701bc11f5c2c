import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")
VECTORS = os.path.join(ROOT, "tests", "vectors")  # real ucarp captures, carried with the project
for path in (FIRMWARE, os.path.dirname(os.path.abspath(__file__)),
             os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab")):
    if path not in sys.path:
        sys.path.insert(0, path)
