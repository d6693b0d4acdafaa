"""The app's own Streamlit components, beside the pages that use them (not part of the engine).

A component is a Streamlit element by nature, so it lives here rather than in `thermolab`,
which stays free of the UI. Plain JavaScript, no build step; pages import these modules.
"""
