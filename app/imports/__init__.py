"""History import: tickets from another helpdesk, with their original timestamps."""
