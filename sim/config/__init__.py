"""Input: scenario files read within bounds, validated into a frozen ``Scenario`` with presets applied."""
