"""The website chat widget: widget.js and the sample website page, shipped as package data."""
