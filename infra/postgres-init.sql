-- One database and one login role per service. The roles are not superusers, so row-level security
-- applies to them. Passwords come from the environment in production (ALTER ROLE ... PASSWORD).
CREATE ROLE inspection_plans LOGIN PASSWORD 'plans';
CREATE ROLE inspection_inspections LOGIN PASSWORD 'inspections';
CREATE ROLE inspection_notifications LOGIN PASSWORD 'notifications';
CREATE ROLE inspection_analytics LOGIN PASSWORD 'analytics';
CREATE DATABASE inspection_plans OWNER inspection_plans ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE inspection_inspections OWNER inspection_inspections ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE inspection_notifications OWNER inspection_notifications ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE inspection_analytics OWNER inspection_analytics ENCODING 'UTF8' TEMPLATE template0;
