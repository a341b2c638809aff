"""The ragbot user interfaces: the Streamlit app and the command line."""
