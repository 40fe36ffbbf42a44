"""Chat: a signed-in customer's live conversation with the team, as a ticket with
channel chat. Messages go through the ticket's messages (REST) and arrive live on the
WebSocket topic `ticket:N`, with typing indicators; offered while the team has staff
on the live channel; handed to email, transcript included, when nobody answers."""
