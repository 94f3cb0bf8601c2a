"""The rss adapter: RSS 2.0 and Atom feeds with their archive."""
