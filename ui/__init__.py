"""The app's own Streamlit components and helpers, beside the pages (not part of the engine).

A component is a Streamlit element by nature, so it lives here rather than in `thermolab`,
which stays free of the UI. Plain JavaScript, no build step; pages import these modules.
`pacing` times animation loops so that they give way to a widget change at once; `long_work`
is how a page follows long work (a job, an animation) to its end: one answer per page run for its
controls and its polling timer, and a full run as soon as the work has ended. `session` names a
browser session to the engine (owner of its jobs, runs and uploads) by random tokens, so that its
Streamlit session id never leaves the server.
"""
