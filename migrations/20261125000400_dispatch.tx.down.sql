DROP TABLE IF EXISTS visits;
DROP TABLE IF EXISTS technician_exceptions;
DROP TABLE IF EXISTS technicians;
