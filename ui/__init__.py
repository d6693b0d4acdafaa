"""The app's own Streamlit components and helpers, beside the pages (not part of the engine).

A component is a Streamlit element by nature, so it lives here rather than in `thermolab`,
which stays free of the UI. Plain JavaScript, no build step; pages import these modules.
`pacing` times animation loops so that they give way to a widget change at once. `session`
names a browser session to the engine (owner of its jobs, runs and uploads) by random tokens,
so that its Streamlit session id never leaves the server.
"""
