"""Social adapters: a SocialAdapter base and Mastodon, Bluesky, LinkedIn, X, Threads."""
