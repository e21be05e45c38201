"""Work for liaison staff: a person calls the victim when the service alone cannot reach them."""
