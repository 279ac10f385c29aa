DROP TABLE IF EXISTS visit_media;
