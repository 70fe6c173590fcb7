"""Programme set-up endpoints, one module per resource: brands, rewards, tiers, event types,
campaigns, and GET /auth/authorize. Every write goes through campaigns/services.py; each
module holds its input serializers, its output serializer (which renders and documents the
response) and its viewset.

Lists page with `?from=&to=` and filter with query parameters: rewards by `brand_id`, `type`;
campaigns by `brand_id`, `type`, `trigger` and `status` (ACTIVE, INACTIVE, or the derived
RUNNING, PAUSED, SCHEDULED, FINISHED); event types by `tracking_only`.
"""
