"""Pure functions from results to plotly figures and uint8 images; one module per page."""
