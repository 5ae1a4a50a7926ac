"""Presentation and view data: listings, board, calendar, agenda, cards, and the only
formatter (render)."""
