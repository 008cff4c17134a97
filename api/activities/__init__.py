"""Points for actions: `activityRecord`."""
