"""liqcascade: the command line and launcher that tie the pipeline's processes together."""
