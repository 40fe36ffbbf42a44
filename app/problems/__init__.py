"""One problem, many customers: incidents linked to the problem ticket behind them."""
