"""What every adapter's transport shares: HTTP failure policy, files, SMTP, connection pools."""
