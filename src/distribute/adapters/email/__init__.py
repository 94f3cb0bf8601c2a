"""The email adapter: newsletter and press list, SMTP/Maildir/ESP transports."""
