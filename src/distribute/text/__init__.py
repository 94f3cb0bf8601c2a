"""Text handling: Markdown to HTML and plain blocks, platform counting and fitting, link/hashtag entities."""
