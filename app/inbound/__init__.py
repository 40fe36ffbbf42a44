"""Every channel in: mail (and later SMS, chat, calls) parsed, identified, threaded and
recorded through the tickets service."""
