"""Labels service: label rows (legacy RPC) and label branches."""
