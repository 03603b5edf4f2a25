"""One router per resource: health, models, scoring, inspection."""
