"""Small Streamlit components with no build step: plain JavaScript shipped in this package.

The one place under `thermolab.viz` that imports streamlit: a component is a Streamlit element by
nature. Pages import these modules; nothing else in `thermolab` does.
"""
