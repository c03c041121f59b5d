"""Marketing inside service contacts (issue 12): offers and their decision, learning from outcomes,
campaign benefit evaluation and the automatic pause of campaigns that do not pay."""
