"""The wire adapter: plain-text wire copy, NewsML-G2 and ninjs; drop folder, email or HTTP."""
