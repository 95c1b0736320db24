# Shared by the fake fixes: the reference fix of one layer at a time, so each fake leaves exactly
# one layer faked. Sourced, with P set to the instance prefix and the workspace as the directory.
CONF=stack/lb/payments.conf

flush_resolver() { docker exec "$P-resolver" unbound-control flush api.payments.test; }
fix_protocols() {
    sed -i -e '/# PAY-1977/d' -e '/ssl_ciphers         DEFAULT:@SECLEVEL=0;/d' \
           -e 's/ssl_protocols       TLSv1 TLSv1.1;/ssl_protocols       TLSv1.2 TLSv1.3;/' "$CONF"
}
fix_vhost() { sed -i 's/server_name api.staging.payments.test;/server_name api.payments.test;/' "$CONF"; }
fix_chain() { sed -i 's|ssl_certificate     /etc/nginx/tls/api.leaf.crt;.*|ssl_certificate     /etc/nginx/tls/api.crt;|' "$CONF"; }
reload_lb() { docker exec "$P-lb" nginx -t && docker exec "$P-lb" nginx -s reload; }
