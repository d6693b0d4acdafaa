"""ThermoLab's server: `streamlit run app.py`.

The home page is home.py and the other pages live in pages/. This file adds to Streamlit's own
server the one route the pages need besides it, the live lattice's frame socket, on which the
browser takes its frames one at a time (`ui.frames`), and turns Nagle's algorithm off on the
server's connections (`ui.network`).
"""

import streamlit as st

from ui.frames import ROUTES
from ui.network import send_small_writes_at_once

send_small_writes_at_once()
app = st.App("home.py", routes=ROUTES)
